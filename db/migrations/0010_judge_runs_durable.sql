-- Edited after drizzle-kit: the migrator runs in one transaction, where PRAGMA foreign_keys=OFF does
-- nothing, so dropping webhook_deliveries would cascade to webhook_attempts: they are kept aside and
-- put back; and the copy names only the columns the old table has.
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`job_id` text,
	`judge_run_id` text,
	`event` text NOT NULL,
	`body` text,
	`url` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`judge_run_id`) REFERENCES `judge_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `__new_webhook_deliveries`("id", "job_id", "event", "url", "state", "attempts", "created_at", "updated_at") SELECT "id", "job_id", "event", "url", "state", "attempts", "created_at", "updated_at" FROM `webhook_deliveries`;--> statement-breakpoint
CREATE TABLE `__keep_webhook_attempts` AS SELECT "delivery_id", "job_id", "attempt", "at", "status_code", "latency_ms", "error" FROM `webhook_attempts`;--> statement-breakpoint
DROP TABLE `webhook_deliveries`;--> statement-breakpoint
ALTER TABLE `__new_webhook_deliveries` RENAME TO `webhook_deliveries`;--> statement-breakpoint
INSERT INTO `webhook_attempts`("delivery_id", "job_id", "attempt", "at", "status_code", "latency_ms", "error") SELECT "delivery_id", "job_id", "attempt", "at", "status_code", "latency_ms", "error" FROM `__keep_webhook_attempts`;--> statement-breakpoint
DROP TABLE `__keep_webhook_attempts`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `webhook_deliveries_job_idx` ON `webhook_deliveries` (`job_id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_judge_run_idx` ON `webhook_deliveries` (`judge_run_id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_state_idx` ON `webhook_deliveries` (`state`,`updated_at`);--> statement-breakpoint
ALTER TABLE `judge_runs` ADD `input` text;--> statement-breakpoint
ALTER TABLE `judge_runs` ADD `webhook_url` text;--> statement-breakpoint
ALTER TABLE `judge_runs` ADD `owner` text;--> statement-breakpoint
ALTER TABLE `judge_runs` ADD `lease_until` integer;--> statement-breakpoint
CREATE INDEX `judge_runs_status_lease_idx` ON `judge_runs` (`status`,`lease_until`);