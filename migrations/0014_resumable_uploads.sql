CREATE TABLE "resumable_uploads" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"project_id" uuid NOT NULL,
	"dataset_id" uuid NOT NULL,
	"name" text NOT NULL,
	"format" text NOT NULL,
	"content_type" text NOT NULL,
	"metadata" jsonb NOT NULL,
	"length" bigint NOT NULL,
	"upload_offset" bigint DEFAULT 0 NOT NULL,
	"r2_key" text NOT NULL,
	"r2_upload_id" text NOT NULL,
	"parts" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"tail_key" text,
	"tail_bytes" bigint DEFAULT 0 NOT NULL,
	"status" text DEFAULT 'uploading' NOT NULL,
	"error" text,
	"created_by" uuid,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "resumable_uploads_status_check" CHECK ("resumable_uploads"."status" IN ('uploading', 'processing', 'ready', 'failed')),
	CONSTRAINT "resumable_uploads_offset_check" CHECK ("resumable_uploads"."upload_offset" >= 0 AND "resumable_uploads"."upload_offset" <= "resumable_uploads"."length")
);
--> statement-breakpoint
ALTER TABLE "resumable_uploads" ADD CONSTRAINT "resumable_uploads_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "resumable_uploads" ADD CONSTRAINT "resumable_uploads_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "resumable_uploads" ADD CONSTRAINT "resumable_uploads_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "resumable_uploads_dataset_idx" ON "resumable_uploads" USING btree ("dataset_id");--> statement-breakpoint
CREATE INDEX "resumable_uploads_expiring_idx" ON "resumable_uploads" USING btree ("expires_at") WHERE status = 'uploading';