/** How the Slack stub names channels and shows messages in a terminal (the demo prints them). */
import type { SlackStubMessage } from './types.js';

/** `#refunds` -> a stable fake id such as `C0REFUNDS…`; an id passes through. */
export function channelId(channel: string): string {
  if (/^[CGD][A-Z0-9]{6,}$/.test(channel)) return channel;
  let hash = 0;
  for (const ch of channel) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return `C${hash.toString(36).toUpperCase().padStart(8, '0')}`;
}

/** A Slack message as readable terminal text: header, fields, sections, context. */
export function formatForTerminal(kind: 'post' | 'reply' | 'update', message: SlackStubMessage, channelName?: string): string {
  const where = message.via === 'webhook' ? 'webhook' : channelName ?? message.channel;
  const what = kind === 'reply' ? `reply in thread ${message.threadTs}` : kind === 'update' ? `update of ${message.ts} (#${message.updates})` : `post ${message.ts}`;
  const lines = [`── Slack ${where} · ${what} ──`];
  const plain = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  for (const block of (message.blocks ?? []) as Array<Record<string, any>>) {
    if (block.type === 'header') lines.push(plain(String(block.text?.text ?? '')));
    if (block.type === 'section') {
      if (block.text?.text) lines.push(plain(String(block.text.text)));
      if (Array.isArray(block.fields)) {
        for (const field of block.fields) lines.push(`  ${plain(String(field.text ?? '')).replace(/^\*(.+?)\*\n/, '$1: ')}`);
      }
    }
    if (block.type === 'context' && Array.isArray(block.elements)) {
      for (const element of block.elements) lines.push(`  (${plain(String(element.text ?? ''))})`);
    }
  }
  if (!message.blocks || message.blocks.length === 0) lines.push(plain(message.text));
  return lines.join('\n');
}
