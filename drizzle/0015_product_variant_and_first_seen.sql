ALTER TABLE "products" ADD COLUMN "variant_id" text;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "first_seen_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
-- A product already stored was first seen when it was first imported.
UPDATE "products" SET "first_seen_at" = "created_at";
