CREATE TABLE `images` (
	`reference` text PRIMARY KEY NOT NULL,
	`digest` text NOT NULL,
	`config` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`image` text NOT NULL,
	`digest` text,
	`request` text NOT NULL,
	`labels` text NOT NULL,
	`webhook_url` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`result` text,
	`verdict` text,
	`exit_code` integer
);
--> statement-breakpoint
CREATE INDEX `jobs_created_at_idx` ON `jobs` (`created_at`);--> statement-breakpoint
CREATE INDEX `jobs_status_idx` ON `jobs` (`status`);--> statement-breakpoint
CREATE INDEX `jobs_verdict_idx` ON `jobs` (`verdict`);