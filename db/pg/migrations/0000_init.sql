CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"name" text,
	"secret_hash" text NOT NULL,
	"scopes" json NOT NULL,
	"created_at" bigint NOT NULL,
	"last_used_at" bigint,
	"revoked_at" bigint,
	"expires_at" bigint
);
--> statement-breakpoint
CREATE TABLE "blobs" (
	"tenant_id" text NOT NULL,
	"digest" text NOT NULL,
	"size" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "blobs_tenant_id_digest_pk" PRIMARY KEY("tenant_id","digest")
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"key" text PRIMARY KEY NOT NULL,
	"request_hash" text NOT NULL,
	"job_ids" json NOT NULL,
	"created_at" bigint NOT NULL,
	"completed_at" bigint
);
--> statement-breakpoint
CREATE TABLE "images" (
	"reference" text PRIMARY KEY NOT NULL,
	"digest" text NOT NULL,
	"config" json NOT NULL,
	"size_bytes" bigint NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text DEFAULT 'local' NOT NULL,
	"status" text NOT NULL,
	"image" text NOT NULL,
	"digest" text,
	"request" json NOT NULL,
	"labels" json NOT NULL,
	"webhook_url" text,
	"created_at" bigint NOT NULL,
	"started_at" bigint,
	"finished_at" bigint,
	"result" json,
	"stdout" "bytea",
	"stderr" "bytea",
	"verdict" text,
	"exit_code" bigint
);
--> statement-breakpoint
CREATE TABLE "judge0_submissions" (
	"token" text PRIMARY KEY NOT NULL,
	"request" json NOT NULL
);
--> statement-breakpoint
CREATE TABLE "judge_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text DEFAULT 'local' NOT NULL,
	"status" text NOT NULL,
	"view" json NOT NULL,
	"created_at" bigint NOT NULL,
	"finished_at" bigint
);
--> statement-breakpoint
CREATE TABLE "tenants" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"policy" json NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "tenants_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "trigger_deliveries" (
	"seq" serial PRIMARY KEY NOT NULL,
	"trigger_id" text NOT NULL,
	"received_at" bigint NOT NULL,
	"delivery_id" text,
	"outcome" text NOT NULL,
	"status" bigint NOT NULL,
	"job_id" text
);
--> statement-breakpoint
CREATE TABLE "triggers" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text DEFAULT 'local' NOT NULL,
	"name" text,
	"template" json NOT NULL,
	"verification" text NOT NULL,
	"secret" text NOT NULL,
	"pass_headers" json NOT NULL,
	"max_body_bytes" bigint NOT NULL,
	"enabled" boolean NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_attempts" (
	"delivery_id" text NOT NULL,
	"job_id" text NOT NULL,
	"attempt" bigint NOT NULL,
	"at" bigint NOT NULL,
	"status_code" bigint,
	"latency_ms" bigint NOT NULL,
	"error" text,
	CONSTRAINT "webhook_attempts_delivery_id_attempt_pk" PRIMARY KEY("delivery_id","attempt")
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"job_id" text NOT NULL,
	"event" text NOT NULL,
	"url" text NOT NULL,
	"state" text NOT NULL,
	"attempts" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "judge0_submissions" ADD CONSTRAINT "judge0_submissions_token_judge_runs_id_fk" FOREIGN KEY ("token") REFERENCES "public"."judge_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_delivery_id_webhook_deliveries_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."webhook_deliveries"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_keys_tenant_idx" ON "api_keys" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "blobs_digest_idx" ON "blobs" USING btree ("digest");--> statement-breakpoint
CREATE INDEX "idempotency_keys_created_at_idx" ON "idempotency_keys" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "jobs_created_at_id_idx" ON "jobs" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "jobs_status_created_at_id_idx" ON "jobs" USING btree ("status","created_at","id");--> statement-breakpoint
CREATE INDEX "jobs_image_created_at_id_idx" ON "jobs" USING btree ("image","created_at","id");--> statement-breakpoint
CREATE INDEX "jobs_verdict_created_at_id_idx" ON "jobs" USING btree ("verdict","created_at","id");--> statement-breakpoint
CREATE INDEX "jobs_tenant_created_at_id_idx" ON "jobs" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "jobs_tenant_status_idx" ON "jobs" USING btree ("tenant_id","status");--> statement-breakpoint
CREATE INDEX "judge_runs_tenant_created_at_idx" ON "judge_runs" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE INDEX "trigger_deliveries_trigger_seq_idx" ON "trigger_deliveries" USING btree ("trigger_id","seq");--> statement-breakpoint
CREATE INDEX "webhook_attempts_job_idx" ON "webhook_attempts" USING btree ("job_id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_job_idx" ON "webhook_deliveries" USING btree ("job_id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_state_idx" ON "webhook_deliveries" USING btree ("state","updated_at");