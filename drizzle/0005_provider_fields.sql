ALTER TABLE `agent_steps` ADD `provider_fields` text;--> statement-breakpoint
ALTER TABLE `agent_steps` ADD `reasoning_tokens` integer;