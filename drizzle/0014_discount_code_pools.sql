CREATE TABLE "code_pools" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"value_kind" text NOT NULL,
	"value" numeric(16, 4) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "code_pools_value_positive" CHECK ("code_pools"."value" > 0 and ("code_pools"."value_kind" = 'amount' or "code_pools"."value" <= 100))
);
--> statement-breakpoint
CREATE TABLE "discount_codes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"pool_id" integer NOT NULL,
	"code" text NOT NULL,
	"expires_at" timestamp with time zone,
	"imported_at" timestamp with time zone DEFAULT now() NOT NULL,
	"enrollment_id" bigint,
	"message_id" bigint,
	"issued_at" timestamp with time zone,
	"redeemed_order_id" bigint,
	"redeemed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "discount_code_id" bigint;--> statement-breakpoint
ALTER TABLE "discount_codes" ADD CONSTRAINT "discount_codes_pool_id_code_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."code_pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "discount_codes" ADD CONSTRAINT "discount_codes_enrollment_id_enrollments_id_fk" FOREIGN KEY ("enrollment_id") REFERENCES "public"."enrollments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "discount_codes" ADD CONSTRAINT "discount_codes_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "discount_codes" ADD CONSTRAINT "discount_codes_redeemed_order_id_orders_id_fk" FOREIGN KEY ("redeemed_order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "code_pools_name_key" ON "code_pools" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "discount_codes_code_key" ON "discount_codes" USING btree (upper("code"));--> statement-breakpoint
CREATE UNIQUE INDEX "discount_codes_enrollment_pool_key" ON "discount_codes" USING btree ("enrollment_id","pool_id") WHERE "discount_codes"."enrollment_id" is not null;--> statement-breakpoint
CREATE INDEX "discount_codes_free_idx" ON "discount_codes" USING btree ("pool_id","id") WHERE "discount_codes"."enrollment_id" is null;--> statement-breakpoint
CREATE INDEX "discount_codes_message_idx" ON "discount_codes" USING btree ("message_id");--> statement-breakpoint
CREATE INDEX "discount_codes_redeemed_order_idx" ON "discount_codes" USING btree ("redeemed_order_id");--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_discount_code_id_discount_codes_id_fk" FOREIGN KEY ("discount_code_id") REFERENCES "public"."discount_codes"("id") ON DELETE no action ON UPDATE no action;