CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`policy` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tenants_name_unique` ON `tenants` (`name`);--> statement-breakpoint
ALTER TABLE `jobs` ADD `tenant_id` text DEFAULT 'local' NOT NULL;--> statement-breakpoint
CREATE INDEX `jobs_tenant_created_at_id_idx` ON `jobs` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `jobs_tenant_status_idx` ON `jobs` (`tenant_id`,`status`);--> statement-breakpoint
ALTER TABLE `triggers` ADD `tenant_id` text DEFAULT 'local' NOT NULL;