ALTER TABLE "chat_messages" ADD COLUMN "grounding" jsonb;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "llm_data_policy" text DEFAULT 'sample' NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD CONSTRAINT "organizations_llm_data_policy_check" CHECK ("organizations"."llm_data_policy" IN ('schema', 'sample', 'full'));