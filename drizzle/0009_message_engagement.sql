CREATE TABLE "engagement_runs" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"last_event_id" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "message_engagement" (
	"message_id" bigint PRIMARY KEY NOT NULL,
	"human_open" boolean DEFAULT false NOT NULL,
	"raw_open" boolean DEFAULT false NOT NULL,
	"human_click" boolean DEFAULT false NOT NULL,
	"raw_click" boolean DEFAULT false NOT NULL,
	"unsubscribed" boolean DEFAULT false NOT NULL,
	"bounced" boolean DEFAULT false NOT NULL,
	"complained" boolean DEFAULT false NOT NULL
);
