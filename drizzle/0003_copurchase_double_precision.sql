ALTER TABLE "copurchase_pairs" ALTER COLUMN "support" SET DATA TYPE double precision;--> statement-breakpoint
ALTER TABLE "copurchase_pairs" ALTER COLUMN "confidence" SET DATA TYPE double precision;--> statement-breakpoint
ALTER TABLE "copurchase_pairs" ALTER COLUMN "lift" SET DATA TYPE double precision;--> statement-breakpoint
ALTER TABLE "copurchase_pairs" ALTER COLUMN "score" SET DATA TYPE double precision;