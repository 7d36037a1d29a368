CREATE TABLE "replenish_intervals" (
	"scope" text NOT NULL,
	"key" text NOT NULL,
	"intervals" integer NOT NULL,
	"median" double precision NOT NULL,
	"q1" double precision NOT NULL,
	"q3" double precision NOT NULL,
	"built_at" timestamp with time zone NOT NULL,
	CONSTRAINT "replenish_intervals_scope_key_pk" PRIMARY KEY("scope","key")
);
--> statement-breakpoint
ALTER TABLE "enrollments" ADD COLUMN "replenish_days" double precision;--> statement-breakpoint
ALTER TABLE "enrollments" ADD COLUMN "replenish_source" text;