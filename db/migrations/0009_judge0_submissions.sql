CREATE TABLE `judge0_submissions` (
	`token` text PRIMARY KEY NOT NULL,
	`request` text NOT NULL,
	FOREIGN KEY (`token`) REFERENCES `judge_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
