CREATE TABLE `trigger_deliveries` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`trigger_id` text NOT NULL,
	`received_at` integer NOT NULL,
	`delivery_id` text,
	`outcome` text NOT NULL,
	`status` integer NOT NULL,
	`job_id` text
);
--> statement-breakpoint
CREATE INDEX `trigger_deliveries_trigger_seq_idx` ON `trigger_deliveries` (`trigger_id`,`seq`);--> statement-breakpoint
CREATE TABLE `triggers` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text,
	`template` text NOT NULL,
	`verification` text NOT NULL,
	`secret` text NOT NULL,
	`pass_headers` text NOT NULL,
	`max_body_bytes` integer NOT NULL,
	`enabled` integer NOT NULL,
	`created_at` integer NOT NULL
);
