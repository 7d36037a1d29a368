-- Each email carries its enrollment's version, arm and enrollment time, so the report's
-- funnel groups the sent emails without joining every one to its enrollment. A trigger
-- copies them as the row is inserted, whoever inserts it; an enrollment never changes them.
ALTER TABLE "messages" ADD COLUMN "sequence_version_id" integer;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "arm" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "enrolled_at" timestamp with time zone;--> statement-breakpoint
CREATE FUNCTION "messages_enrollment_copy"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT e.sequence_version_id, e.arm, e.enrolled_at INTO NEW.sequence_version_id, NEW.arm, NEW.enrolled_at
  FROM enrollments e WHERE e.id = NEW.enrollment_id;
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER "messages_enrollment_copy" BEFORE INSERT ON "messages" FOR EACH ROW EXECUTE FUNCTION "messages_enrollment_copy"();--> statement-breakpoint
UPDATE "messages" m SET "sequence_version_id" = e.sequence_version_id, "arm" = e.arm, "enrolled_at" = e.enrolled_at
FROM "enrollments" e WHERE e.id = m.enrollment_id;--> statement-breakpoint
ALTER TABLE "messages" ALTER COLUMN "sequence_version_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ALTER COLUMN "arm" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ALTER COLUMN "enrolled_at" SET NOT NULL;
