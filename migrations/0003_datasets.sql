CREATE TABLE "datasets" (
	"id" uuid PRIMARY KEY NOT NULL,
	"project_id" uuid NOT NULL,
	"org_id" uuid NOT NULL,
	"name" text NOT NULL,
	"version" integer NOT NULL,
	"format" text NOT NULL,
	"status" text DEFAULT 'ready' NOT NULL,
	"size_bytes" bigint NOT NULL,
	"sha256" text NOT NULL,
	"row_count" integer NOT NULL,
	"column_count" integer NOT NULL,
	"parse_options" jsonb NOT NULL,
	"profile" jsonb NOT NULL,
	"sample" jsonb NOT NULL,
	"r2_key" text NOT NULL,
	"created_by" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp (3) with time zone
);
--> statement-breakpoint
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "datasets_project_name_version_key" ON "datasets" USING btree ("project_id","name","version");--> statement-breakpoint
CREATE INDEX "datasets_project_created_idx" ON "datasets" USING btree ("project_id","created_at","id") WHERE deleted_at IS NULL;--> statement-breakpoint
CREATE INDEX "datasets_project_sha_idx" ON "datasets" USING btree ("project_id","sha256") WHERE deleted_at IS NULL;--> statement-breakpoint
CREATE INDEX "datasets_deleted_idx" ON "datasets" USING btree ("deleted_at") WHERE deleted_at IS NOT NULL;