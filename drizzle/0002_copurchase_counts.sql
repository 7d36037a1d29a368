ALTER TABLE "copurchase_state" ADD COLUMN "pairs" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "copurchase_state" ADD COLUMN "counts" "bytea";