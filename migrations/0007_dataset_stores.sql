ALTER TABLE "datasets" ADD COLUMN "query_status" text DEFAULT 'pending' NOT NULL;--> statement-breakpoint
ALTER TABLE "datasets" ADD COLUMN "query_rows" integer;--> statement-breakpoint
ALTER TABLE "datasets" ADD COLUMN "query_loaded_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "datasets" ADD COLUMN "query_error" text;--> statement-breakpoint
CREATE INDEX "datasets_org_sha_idx" ON "datasets" USING btree ("org_id","sha256");--> statement-breakpoint
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_query_status_check" CHECK ("datasets"."query_status" IN ('pending', 'loading', 'ready', 'failed'));