CREATE TABLE "dataset_rejected_rows" (
	"dataset_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"line" integer NOT NULL,
	"column" integer,
	"reason" text NOT NULL,
	"raw" text NOT NULL,
	CONSTRAINT "dataset_rejected_rows_dataset_id_position_pk" PRIMARY KEY("dataset_id","position")
);
--> statement-breakpoint
ALTER TABLE "datasets" ADD COLUMN "rejected_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "dataset_rejected_rows" ADD CONSTRAINT "dataset_rejected_rows_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;