CREATE TABLE "webhook_deliveries" (
	"platform" text NOT NULL,
	"delivery_id" text NOT NULL,
	"topic" text NOT NULL,
	"outcome" text NOT NULL,
	"reason" text,
	"payload" jsonb,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "webhook_deliveries_platform_delivery_id_pk" PRIMARY KEY("platform","delivery_id")
);
--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "platform_product_id" text;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_outcome_idx" ON "webhook_deliveries" USING btree ("outcome","received_at");