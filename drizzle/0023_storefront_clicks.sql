CREATE TABLE "storefront_clicks" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"product_id" integer NOT NULL,
	"placement" text NOT NULL,
	"is_human" boolean NOT NULL,
	"machine_reason" text,
	"user_agent" text,
	"ip" text,
	"occurred_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "storefront_clicks_product_time_idx" ON "storefront_clicks" USING btree ("product_id","occurred_at");