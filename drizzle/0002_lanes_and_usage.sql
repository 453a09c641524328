CREATE TABLE `usage` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`chat_id` integer NOT NULL,
	`inbox_id` integer,
	`model` text NOT NULL,
	`prompt_tokens` integer NOT NULL,
	`completion_tokens` integer NOT NULL,
	`cached_tokens` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`inbox_id`) REFERENCES `inbox`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `usage_chat_created_idx` ON `usage` (`chat_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `usage_created_idx` ON `usage` (`created_at`);--> statement-breakpoint
CREATE INDEX `usage_inbox_idx` ON `usage` (`inbox_id`);--> statement-breakpoint
ALTER TABLE `inbox` ADD `lane` text DEFAULT 'answer' NOT NULL;--> statement-breakpoint
ALTER TABLE `inbox` ADD `from_id` integer;--> statement-breakpoint
ALTER TABLE `inbox` ADD `callback_id` text;