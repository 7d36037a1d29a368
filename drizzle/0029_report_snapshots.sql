CREATE TABLE "report_snapshots" (
	"key" text PRIMARY KEY NOT NULL,
	"as_of" timestamp with time zone NOT NULL,
	"built_at" timestamp with time zone NOT NULL,
	"build_ms" integer NOT NULL,
	"body" json NOT NULL,
	"viewed_at" timestamp with time zone NOT NULL
);
