CREATE TABLE "attribution_runs" (
	"model" text PRIMARY KEY NOT NULL,
	"last_order_id" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
