CREATE TABLE "message_acceptance" (
	"message_id" bigint PRIMARY KEY NOT NULL,
	"accepted_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "enrollment_outcomes" ADD COLUMN "items" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "enrollment_outcomes" ADD COLUMN "recommended" numeric DEFAULT '0' NOT NULL;--> statement-breakpoint
ALTER TABLE "enrollment_outcomes" ADD COLUMN "offer_revenue" numeric(16, 4) DEFAULT '0' NOT NULL;--> statement-breakpoint
ALTER TABLE "enrollment_outcomes" ADD COLUMN "offer_orders" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "enrollment_outcomes" ADD COLUMN "accepted_cross" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "enrollment_outcomes" ADD COLUMN "accepted_up" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "enrollment_outcomes" ADD COLUMN "accepted_any" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "enrollment_outcomes" ADD COLUMN "next_order_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "messages_sent_idx" ON "messages" USING btree ("sent_at");--> statement-breakpoint
-- The rollup is built whole by TypeScript (src/store/outcomes.ts rebuildOutcomes), which now
-- writes message_acceptance and the new offer columns of enrollment_outcomes: marking it unbuilt makes `campaign db
-- migrate` rebuild both right after the migrations; until then the report reads the raw rows.
DELETE FROM "outcome_runs";
