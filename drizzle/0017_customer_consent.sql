ALTER TABLE "customers" ADD COLUMN "accepts_marketing" text DEFAULT 'unknown' NOT NULL;--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "consent_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "consent_source" text;--> statement-breakpoint
ALTER TABLE "customers" ADD CONSTRAINT "customers_accepts_marketing_known" CHECK ("customers"."accepts_marketing" in ('yes', 'no', 'unknown'));