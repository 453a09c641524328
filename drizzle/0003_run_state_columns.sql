ALTER TABLE `agent_runs` ADD `status_message_id` integer;--> statement-breakpoint
ALTER TABLE `agent_runs` ADD `checkpoint` text;--> statement-breakpoint
-- A run's status message id and git checkpoint were kv rows that outlived their run; they move
-- to the run's own columns. Rows whose run no longer exists go with the rest.
UPDATE `agent_runs` SET `status_message_id` = (
  SELECT CAST(`kv`.`value` AS integer) FROM `kv` WHERE `kv`.`key` = 'run_status_message:' || `agent_runs`.`id`
) WHERE EXISTS (SELECT 1 FROM `kv` WHERE `kv`.`key` = 'run_status_message:' || `agent_runs`.`id`);--> statement-breakpoint
UPDATE `agent_runs` SET `checkpoint` = (
  SELECT `kv`.`value` FROM `kv` WHERE `kv`.`key` = 'run_checkpoint:' || `agent_runs`.`inbox_id`
) WHERE `inbox_id` IS NOT NULL
  AND EXISTS (SELECT 1 FROM `kv` WHERE `kv`.`key` = 'run_checkpoint:' || `agent_runs`.`inbox_id`);--> statement-breakpoint
DELETE FROM `kv` WHERE `key` GLOB 'run_status_message:*' OR `key` GLOB 'run_checkpoint:*';
