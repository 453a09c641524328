CREATE TABLE `agent_approvals` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`step_id` integer NOT NULL,
	`tool_call_id` text NOT NULL,
	`tool` text NOT NULL,
	`call_hash` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`scope` text,
	`chat_id` integer NOT NULL,
	`card_message_id` integer,
	`asked_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`decided_at` integer,
	`decided_by` integer,
	FOREIGN KEY (`run_id`) REFERENCES `agent_runs`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`step_id`) REFERENCES `agent_steps`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `agent_approvals_run_idx` ON `agent_approvals` (`run_id`);--> statement-breakpoint
CREATE INDEX `agent_approvals_step_idx` ON `agent_approvals` (`step_id`);--> statement-breakpoint
CREATE INDEX `agent_approvals_status_expiry_idx` ON `agent_approvals` (`status`,`expires_at`);--> statement-breakpoint
CREATE TABLE `agent_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`chat_id` integer NOT NULL,
	`inbox_id` integer,
	`project` text NOT NULL,
	`status` text DEFAULT 'running' NOT NULL,
	`steps` integer DEFAULT 0 NOT NULL,
	`prompt_tokens` integer DEFAULT 0 NOT NULL,
	`completion_tokens` integer DEFAULT 0 NOT NULL,
	`cached_tokens` integer DEFAULT 0 NOT NULL,
	`resumes` integer DEFAULT 0 NOT NULL,
	`stalled_resumes` integer DEFAULT 0 NOT NULL,
	`progress_mark` integer DEFAULT 0 NOT NULL,
	`suspended_at` integer,
	`parked_at` integer,
	`parked_ms` integer DEFAULT 0 NOT NULL,
	`answer` text,
	`error` text,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`inbox_id`) REFERENCES `inbox`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `agent_runs_inbox_unique` ON `agent_runs` (`inbox_id`);--> statement-breakpoint
CREATE INDEX `agent_runs_chat_idx` ON `agent_runs` (`chat_id`,`id`);--> statement-breakpoint
CREATE INDEX `agent_runs_status_idx` ON `agent_runs` (`status`);--> statement-breakpoint
CREATE TABLE `agent_steps` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`seq` integer NOT NULL,
	`kind` text NOT NULL,
	`parent_id` integer,
	`content` text,
	`tool_calls` text,
	`model` text,
	`finish_reason` text,
	`prompt_tokens` integer,
	`completion_tokens` integer,
	`cached_tokens` integer,
	`tool_call_id` text,
	`tool` text,
	`arguments` text,
	`status` text,
	`result` text,
	`output_path` text,
	`is_error` integer,
	`exit_code` integer,
	`started_at` integer,
	`finished_at` integer,
	`duration_ms` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `agent_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `agent_steps_run_seq_unique` ON `agent_steps` (`run_id`,`seq`);--> statement-breakpoint
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
ALTER TABLE `history` ADD `tokens` integer;--> statement-breakpoint
ALTER TABLE `inbox` ADD `lane` text DEFAULT 'answer' NOT NULL;--> statement-breakpoint
ALTER TABLE `inbox` ADD `from_id` integer;--> statement-breakpoint
ALTER TABLE `inbox` ADD `callback_id` text;--> statement-breakpoint
CREATE INDEX `inbox_ready_idx` ON `inbox` (`lane`,("error_class" IS 'crash'),`available_at`,`update_id`) WHERE "inbox"."status" IN ('queued', 'failed');--> statement-breakpoint
CREATE INDEX `inbox_open_chat_idx` ON `inbox` (`chat_id`,`lane`,`update_id`) WHERE "inbox"."status" IN ('queued', 'failed', 'processing', 'parked');--> statement-breakpoint
CREATE INDEX `inbox_processing_chat_idx` ON `inbox` (`chat_id`,`lane`) WHERE "inbox"."status" = 'processing';