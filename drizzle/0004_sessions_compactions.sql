CREATE TABLE `compactions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`session_id` integer NOT NULL,
	`run_id` integer,
	`kind` text NOT NULL,
	`through_run_id` integer NOT NULL,
	`through_seq` integer NOT NULL,
	`summary` text,
	`instructions` text,
	`tokens_before` integer NOT NULL,
	`tokens_after` integer NOT NULL,
	`model` text,
	`prompt_tokens` integer DEFAULT 0 NOT NULL,
	`completion_tokens` integer DEFAULT 0 NOT NULL,
	`cached_tokens` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`run_id`) REFERENCES `agent_runs`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `compactions_session_idx` ON `compactions` (`session_id`,`id`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`chat_id` integer NOT NULL,
	`project` text NOT NULL,
	`from_inbox_id` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sessions_chat_project_from_unique` ON `sessions` (`chat_id`,`project`,`from_inbox_id`);--> statement-breakpoint
ALTER TABLE `agent_runs` ADD `session_id` integer REFERENCES sessions(id);--> statement-breakpoint
ALTER TABLE `agent_runs` ADD `message` text;--> statement-breakpoint
CREATE INDEX `agent_runs_session_idx` ON `agent_runs` (`session_id`,`id`);--> statement-breakpoint
ALTER TABLE `agent_steps` ADD `inbox_id` integer;