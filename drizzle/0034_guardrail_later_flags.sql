ALTER TABLE "enrollment_outcomes" ADD COLUMN "later_unsubscribed" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "enrollment_outcomes" ADD COLUMN "later_complained" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "enrollment_outcomes" ADD COLUMN "later_bounced" boolean DEFAULT false NOT NULL;--> statement-breakpoint
-- Each row's flags ORed over it and the customer's later enrollments in the version (by
-- enrolled_at, then id): on a unit's row, what the guardrails count, with no grouping of every
-- flagged row by customer (src/store/outcomes.ts `refreshLaterFlags` keeps them).
WITH "w" AS (
  SELECT "enrollment_id",
         bool_or("unsubscribed") OVER "later" AS "lu", bool_or("complained") OVER "later" AS "lc", bool_or("bounced") OVER "later" AS "lb"
  FROM "enrollment_outcomes"
  WINDOW "later" AS (PARTITION BY "customer_id", "sequence_version_id" ORDER BY "enrolled_at" DESC, "enrollment_id" DESC
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
UPDATE "enrollment_outcomes" eo SET "later_unsubscribed" = w."lu", "later_complained" = w."lc", "later_bounced" = w."lb"
FROM "w" WHERE w."enrollment_id" = eo."enrollment_id" AND (w."lu" OR w."lc" OR w."lb");
