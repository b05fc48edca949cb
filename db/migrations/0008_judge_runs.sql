CREATE TABLE `judge_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text DEFAULT 'local' NOT NULL,
	`status` text NOT NULL,
	`view` text NOT NULL,
	`created_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE INDEX `judge_runs_tenant_created_at_idx` ON `judge_runs` (`tenant_id`,`created_at`);