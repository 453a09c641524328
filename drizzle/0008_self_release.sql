CREATE TABLE `self_releases` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`chat_id` integer NOT NULL,
	`thread_id` integer,
	`from_id` integer,
	`inbox_id` integer,
	`status` text NOT NULL,
	`commit` text,
	`base_revision` text,
	`base_commit` text,
	`build_dir` text,
	`checks` text,
	`summary` text,
	`card_message_id` integer,
	`revision` text,
	`reason` text,
	`rolled_back_to` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`released_told_at` integer,
	`outcome_told_at` integer
);
--> statement-breakpoint
CREATE INDEX `self_releases_status_idx` ON `self_releases` (`status`);--> statement-breakpoint
CREATE UNIQUE INDEX `self_releases_inbox_unique` ON `self_releases` (`inbox_id`);--> statement-breakpoint
ALTER TABLE `supervisor_revisions` ADD `origin` text;--> statement-breakpoint
ALTER TABLE `supervisor_revisions` ADD `commit` text;--> statement-breakpoint
ALTER TABLE `supervisor_revisions` ADD `checks` text;--> statement-breakpoint
ALTER TABLE `supervisor_state` ADD `ready_at` integer;--> statement-breakpoint
ALTER TABLE `supervisor_state` ADD `readiness` text;