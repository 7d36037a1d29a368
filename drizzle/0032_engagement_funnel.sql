-- Every sent email has its row in message_engagement, which carries the email's version,
-- arm, step and enrollment time (copied from the email as the row is inserted, whoever
-- inserts it) and whether the email was sent (set when its send is settled into the
-- report's rollup, src/store/outcomes.ts `settleSends`). The report's funnel then counts
-- sends, opens, clicks and the guardrail events per step from this one table, instead of
-- joining a million emails to their engagement.
ALTER TABLE "message_engagement" ADD COLUMN "sequence_version_id" integer;--> statement-breakpoint
ALTER TABLE "message_engagement" ADD COLUMN "arm" text;--> statement-breakpoint
ALTER TABLE "message_engagement" ADD COLUMN "step" integer;--> statement-breakpoint
ALTER TABLE "message_engagement" ADD COLUMN "enrolled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "message_engagement" ADD COLUMN "sent" boolean DEFAULT false NOT NULL;--> statement-breakpoint
UPDATE "message_engagement" t SET "sequence_version_id" = m.sequence_version_id, "arm" = m.arm, "step" = m.step,
  "enrolled_at" = m.enrolled_at, "sent" = (m.state = 'sent')
FROM "messages" m WHERE m.id = t.message_id;--> statement-breakpoint
INSERT INTO "message_engagement" ("message_id", "sequence_version_id", "arm", "step", "enrolled_at", "sent")
SELECT m.id, m.sequence_version_id, m.arm, m.step, m.enrolled_at, true FROM "messages" m WHERE m.state = 'sent'
ON CONFLICT ("message_id") DO NOTHING;--> statement-breakpoint
CREATE FUNCTION "message_engagement_copy"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT m.sequence_version_id, m.arm, m.step, m.enrolled_at INTO NEW.sequence_version_id, NEW.arm, NEW.step, NEW.enrolled_at
  FROM messages m WHERE m.id = NEW.message_id;
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER "message_engagement_copy" BEFORE INSERT ON "message_engagement" FOR EACH ROW EXECUTE FUNCTION "message_engagement_copy"();
