CREATE TABLE `idempotency_keys` (
	`key` text PRIMARY KEY NOT NULL,
	`request_hash` text NOT NULL,
	`job_ids` text NOT NULL,
	`created_at` integer NOT NULL,
	`completed_at` integer
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_created_at_idx` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
DROP INDEX `jobs_created_at_idx`;--> statement-breakpoint
DROP INDEX `jobs_status_idx`;--> statement-breakpoint
DROP INDEX `jobs_verdict_idx`;--> statement-breakpoint
CREATE INDEX `jobs_created_at_id_idx` ON `jobs` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `jobs_status_created_at_id_idx` ON `jobs` (`status`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `jobs_image_created_at_id_idx` ON `jobs` (`image`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `jobs_verdict_created_at_id_idx` ON `jobs` (`verdict`,`created_at`,`id`);