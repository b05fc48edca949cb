ALTER TABLE `jobs` ADD `stdout` blob;--> statement-breakpoint
ALTER TABLE `jobs` ADD `stderr` blob;