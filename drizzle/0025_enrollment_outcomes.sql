CREATE TABLE "enrollment_outcomes" (
	"enrollment_id" bigint PRIMARY KEY NOT NULL,
	"sequence_version_id" integer NOT NULL,
	"customer_id" integer NOT NULL,
	"arm" text NOT NULL,
	"enrolled_at" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"pre_spend" numeric(16, 4) NOT NULL,
	"first_in_version" boolean NOT NULL,
	"segment" text NOT NULL,
	"repeat_buyer" boolean NOT NULL,
	"orders" integer NOT NULL,
	"revenue" numeric(16, 4) NOT NULL,
	"margin" numeric(16, 4) NOT NULL,
	"cogs" numeric(16, 4) NOT NULL,
	"uncosted" boolean NOT NULL,
	"unsubscribed" boolean DEFAULT false NOT NULL,
	"complained" boolean DEFAULT false NOT NULL,
	"bounced" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outcome_runs" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"built_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "engagement_runs" ADD COLUMN "last_occurred_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "enrollment_outcomes_version_idx" ON "enrollment_outcomes" USING btree ("sequence_version_id","customer_id");--> statement-breakpoint
CREATE INDEX "enrollment_outcomes_customer_idx" ON "enrollment_outcomes" USING btree ("customer_id");--> statement-breakpoint
CREATE INDEX "enrollments_trigger_idx" ON "enrollments" USING btree ("trigger_order_id");--> statement-breakpoint
-- Backfill: the latest time of the events the engagement rollup has read (src/analytics/engagement.ts).
UPDATE "engagement_runs" r SET "last_occurred_at" = (SELECT max(e."occurred_at") FROM "events" e WHERE e."id" <= r."last_event_id");--> statement-breakpoint
-- No backfill of enrollment_outcomes in SQL: an enrollment's window comes from its version's definition
-- (src/core/sequence.ts measurementWindowMs), read in TypeScript. `campaign db migrate` builds the rollup right
-- after the migrations (src/store/outcomes.ts rebuildOutcomes, also `campaign report rebuild`); until it is
-- built (outcome_runs empty) the report reads the raw rows.
SELECT 1;
