CREATE TABLE "data_refreshes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"data_source_id" uuid NOT NULL,
	"project_id" uuid NOT NULL,
	"dataset_name" text NOT NULL,
	"request" jsonb NOT NULL,
	"schedule" text NOT NULL,
	"rerun_session_id" uuid,
	"next_run_at" timestamp (3) with time zone NOT NULL,
	"running_since" timestamp (3) with time zone,
	"last_run_at" timestamp (3) with time zone,
	"last_status" text,
	"last_error" text,
	"last_dataset_id" uuid,
	"last_analysis_id" uuid,
	"runs" integer DEFAULT 0 NOT NULL,
	"created_by" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "data_refreshes" ADD CONSTRAINT "data_refreshes_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "data_refreshes" ADD CONSTRAINT "data_refreshes_data_source_id_data_sources_id_fk" FOREIGN KEY ("data_source_id") REFERENCES "public"."data_sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "data_refreshes" ADD CONSTRAINT "data_refreshes_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "data_refreshes" ADD CONSTRAINT "data_refreshes_rerun_session_id_analysis_sessions_id_fk" FOREIGN KEY ("rerun_session_id") REFERENCES "public"."analysis_sessions"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "data_refreshes" ADD CONSTRAINT "data_refreshes_last_dataset_id_datasets_id_fk" FOREIGN KEY ("last_dataset_id") REFERENCES "public"."datasets"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "data_refreshes" ADD CONSTRAINT "data_refreshes_last_analysis_id_analyses_id_fk" FOREIGN KEY ("last_analysis_id") REFERENCES "public"."analyses"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "data_refreshes" ADD CONSTRAINT "data_refreshes_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "data_refreshes_source_created_idx" ON "data_refreshes" USING btree ("data_source_id","created_at","id");--> statement-breakpoint
CREATE INDEX "data_refreshes_due_idx" ON "data_refreshes" USING btree ("next_run_at");