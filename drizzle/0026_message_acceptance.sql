CREATE TABLE "message_acceptance" (
	"message_id" bigint PRIMARY KEY NOT NULL,
	"accepted_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
-- The rollup is built whole by TypeScript (src/store/outcomes.ts rebuildOutcomes), which now
-- writes message_acceptance beside enrollment_outcomes: marking it unbuilt makes `campaign db
-- migrate` rebuild both right after the migrations; until then the report reads the raw rows.
DELETE FROM "outcome_runs";
