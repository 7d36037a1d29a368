CREATE TABLE "experiment_decisions" (
	"id" serial PRIMARY KEY NOT NULL,
	"sequence_id" text NOT NULL,
	"version_id" integer NOT NULL,
	"action" text NOT NULL,
	"variant" text NOT NULL,
	"tested" jsonb NOT NULL,
	"evidence" jsonb NOT NULL,
	"forced" boolean DEFAULT false NOT NULL,
	"decided_by" text NOT NULL,
	"note" text,
	"next_file" text,
	"decided_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "enrollments" ADD COLUMN "offered" jsonb;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "upsells" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "experiment_decisions" ADD CONSTRAINT "experiment_decisions_sequence_id_sequences_id_fk" FOREIGN KEY ("sequence_id") REFERENCES "public"."sequences"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "experiment_decisions" ADD CONSTRAINT "experiment_decisions_version_id_sequence_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."sequence_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "experiment_decisions_sequence_idx" ON "experiment_decisions" USING btree ("sequence_id","decided_at");