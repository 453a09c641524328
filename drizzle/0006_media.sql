CREATE TABLE `inbox_files` (
	`inbox_id` integer NOT NULL,
	`seq` integer NOT NULL,
	`from_inbox_id` integer NOT NULL,
	`media` text NOT NULL,
	`caption` text,
	`project` text,
	`path` text,
	`bytes` integer,
	`sha256` text,
	`saved` integer DEFAULT false NOT NULL,
	`transcript` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`inbox_id`) REFERENCES `inbox`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `inbox_files_item_seq_unique` ON `inbox_files` (`inbox_id`,`seq`);--> statement-breakpoint
ALTER TABLE `agent_runs` ADD `images` text;--> statement-breakpoint
ALTER TABLE `inbox` ADD `media` text;--> statement-breakpoint
ALTER TABLE `inbox` ADD `media_group_id` text;