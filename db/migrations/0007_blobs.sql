CREATE TABLE `blobs` (
	`tenant_id` text NOT NULL,
	`digest` text NOT NULL,
	`size` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `digest`)
);
--> statement-breakpoint
CREATE INDEX `blobs_digest_idx` ON `blobs` (`digest`);