DROP INDEX `sessions_chat_project_from_unique`;--> statement-breakpoint
ALTER TABLE `sessions` ADD `thread_id` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `sessions_chat_thread_project_from_unique` ON `sessions` (`chat_id`,`thread_id`,`project`,`from_inbox_id`);--> statement-breakpoint
ALTER TABLE `inbox` ADD `thread_id` integer;