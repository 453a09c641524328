CREATE TABLE `history` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`chat_id` integer NOT NULL,
	`role` text NOT NULL,
	`text` text NOT NULL,
	`inbox_id` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`inbox_id`) REFERENCES `inbox`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `history_chat_idx` ON `history` (`chat_id`,`id`);--> statement-breakpoint
CREATE TABLE `inbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`update_id` integer NOT NULL,
	`chat_id` integer,
	`message_id` integer,
	`kind` text NOT NULL,
	`text` text,
	`sent_at` integer,
	`status` text DEFAULT 'queued' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`available_at` integer NOT NULL,
	`error` text,
	`error_class` text,
	`error_code` text,
	`reply` text,
	`reply_parts_sent` integer DEFAULT 0 NOT NULL,
	`received_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `inbox_update_id_unique` ON `inbox` (`update_id`);--> statement-breakpoint
CREATE INDEX `inbox_status_available_idx` ON `inbox` (`status`,`available_at`);--> statement-breakpoint
CREATE INDEX `inbox_chat_update_idx` ON `inbox` (`chat_id`,`update_id`);--> statement-breakpoint
CREATE TABLE `kv` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `supervisor_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`app` text NOT NULL,
	`event` text NOT NULL,
	`exit_code` integer,
	`uptime_ms` integer,
	`manual` integer,
	`revision` text,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `supervisor_events_at_idx` ON `supervisor_events` (`at`);--> statement-breakpoint
CREATE TABLE `supervisor_revisions` (
	`id` text PRIMARY KEY NOT NULL,
	`path` text NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`source` text,
	`created_at` integer NOT NULL,
	`promoted_at` integer,
	`bad_at` integer
);
--> statement-breakpoint
CREATE TABLE `supervisor_state` (
	`name` text PRIMARY KEY NOT NULL,
	`status` text,
	`reason` text,
	`restarts_in_window` integer DEFAULT 0 NOT NULL,
	`last_exit_code` integer,
	`revision` text,
	`since` integer,
	`heartbeat_at` integer,
	`updated_at` integer DEFAULT (unixepoch() * 1000) NOT NULL
);
