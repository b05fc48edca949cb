ALTER TABLE "webhook_deliveries" ALTER COLUMN "job_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "judge_runs" ADD COLUMN "input" json;--> statement-breakpoint
ALTER TABLE "judge_runs" ADD COLUMN "webhook_url" text;--> statement-breakpoint
ALTER TABLE "judge_runs" ADD COLUMN "owner" text;--> statement-breakpoint
ALTER TABLE "judge_runs" ADD COLUMN "lease_until" bigint;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "judge_run_id" text;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "body" text;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_judge_run_id_judge_runs_id_fk" FOREIGN KEY ("judge_run_id") REFERENCES "public"."judge_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "judge_runs_status_lease_idx" ON "judge_runs" USING btree ("status","lease_until");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_judge_run_idx" ON "webhook_deliveries" USING btree ("judge_run_id");