import { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { IRoom } from '@rocket.chat/apps-engine/definition/rooms';
import { ISlashCommand, SlashCommandContext } from '@rocket.chat/apps-engine/definition/slashcommands';
import { IUser } from '@rocket.chat/apps-engine/definition/users';

import { LOCAL_INSTANCE, Route } from '../core/config';
import { linkableFrom, linkInstanceName, RoomLink } from '../core/links';
import { maskUrl, NO_SECRETS, Redactor } from '../core/redact';
import { RelayMessage, RoomKind } from '../core/message';
import { fnv1a } from '../core/hash';
import { planDeliveries } from '../core/relay';
import { formatDuration } from '../core/retry';
import { targetKey } from '../core/rules';
import { ConfigStore } from './configStore';
import { errorOutline } from './delivery';
import { DeliveryPipeline } from './pipeline';
import { readCounters } from './records/counters';
import { listLinks, removeLink, saveLink } from './records/links';
import { listDeadLetters, listOutbox } from './records/outbox';

const ROOM_KINDS: Record<string, RoomKind> = { c: 'channel', p: 'private', d: 'direct', l: 'livechat' };

const HELP = [
    '*/relay* — Relay Bridge for this room (room owners and admins)',
    '`/relay status` — this room’s targets, their health and counters',
    '`/relay list` — the rules involving this room',
    '`/relay test` — send a test message to every target of this room and report each result',
    '`/relay link <instance or URL>` — relay this room to an instance (owners: one the admin made linkable) or, admins only, an Apprise-style URL (e.g. `discord://id/token`)',
    '`/relay unlink [instance, URL or link id]` — remove links made here (all of this room’s without an argument)',
    '`/relay dead-letters [retry|drop <id|all>]` — deliveries that were given up',
    '`/relay help` — this text',
].join('\n');

/**
 * `/relay`: status and control of the bridge from the room itself. Every reply is ephemeral
 * (only the user who typed the command sees it).
 */
export class RelayCommand implements ISlashCommand {
    public command = 'relay';
    public i18nParamsExample = 'relay_command_params';
    public i18nDescription = 'relay_command_description';
    public providesPreview = false;

    constructor(private readonly configStore: ConfigStore, private readonly pipeline: DeliveryPipeline, private readonly appId: () => string) {}

    public async executor(context: SlashCommandContext, read: IRead, modify: IModify, http: IHttp, persistence: IPersistence): Promise<void> {
        const [sub = 'help', ...args] = context.getArguments();
        const user = context.getSender();
        const room = context.getRoom();
        const isAdmin = (user.roles || []).indexOf('admin') >= 0;
        let text: string;
        try {
            if (!isAdmin && !(await this.isOwner(user, room, read))) {
                text = 'Only this room’s owners and administrators can use `/relay`.';
            } else {
                text = await this.run(sub.toLowerCase(), args, { user, room, isAdmin }, read, modify, http, persistence);
            }
        } catch (e) {
            text = `/relay ${sub} failed${isAdmin ? `: ${(await this.redactor(read)).scrub(e instanceof Error ? e.message : String(e))}` : '; an administrator finds the reason in the app’s logs'}`;
        }
        await this.reply(context, read, modify, text);
    }

    private async run(sub: string, args: string[], caller: Caller, read: IRead, modify: IModify, http: IHttp, persistence: IPersistence): Promise<string> {
        const { room } = caller;
        switch (sub) {
            case 'help':
                return HELP;
            case 'status':
                return this.status(caller, read);
            case 'list':
                return this.list(room, read);
            case 'test':
                return this.test(caller, read, http, persistence, modify);
            case 'link':
                return this.link(args, caller, read, persistence);
            case 'unlink':
                return this.unlink(args, room, read, persistence);
            case 'dead-letters':
            case 'deadletters':
                return this.deadLetters(args, caller, read, modify, persistence);
            default:
                return `Unknown subcommand "${sub}".\n${HELP}`;
        }
    }

    private async isOwner(user: IUser, room: IRoom, read: IRead): Promise<boolean> {
        const owners = await read.getRoomReader().getOwners(room.id);
        return owners.some((owner) => owner.id === user.id);
    }

    private async routesOf(room: IRoom, read: IRead): Promise<{ outbound: Route[]; inbound: Route[] }> {
        const { active } = await this.configStore.current(read);
        if (!active) {
            return { outbound: [], inbound: [] };
        }
        const ref = roomRef(room);
        const outbound = active.index.outboundRoutes(ref);
        const inbound = active.config.routes.filter((r) => r.to.instance === LOCAL_INSTANCE && (r.to.channel.room_id === room.id || (r.to.channel.room || '').toLowerCase() === ref.name.toLowerCase()));
        return { outbound, inbound };
    }

    /** The running configuration's redaction (secrets known), or URL masking alone before one runs. */
    private async redactor(read: IRead): Promise<Redactor> {
        const { active } = await this.configStore.current(read);
        return active ? active.redactor : NO_SECRETS;
    }

    /**
     * What a delivery error may show the caller: admins the scrubbed text (stored records are
     * scrubbed again, they may predate a secret), owners its HTTP status only.
     */
    private async errorFor(caller: Caller, error: string, read: IRead): Promise<string> {
        return caller.isAdmin ? (await this.redactor(read)).scrub(error) : errorOutline(error);
    }

    private async status(caller: Caller, read: IRead): Promise<string> {
        const { room } = caller;
        const { outbound, inbound } = await this.routesOf(room, read);
        const reader = read.getPersistenceReader();
        const [counters, outbox, dead] = await Promise.all([readCounters(reader, this.pipeline.counters), listOutbox(reader), listDeadLetters(reader)]);
        const lines = [`*Relay status for #${roomRef(room).name}*`];
        if (this.configStore.lastError) {
            lines.push(`:warning: configuration problem, the last valid configuration keeps running${caller.isAdmin ? `: ${(await this.redactor(read)).scrub(this.configStore.lastError)}` : ' (an administrator sees the details)'}`);
        }
        const { active } = await this.configStore.current(read);
        for (const warning of active && caller.isAdmin ? active.config.warnings.slice(0, 5) : []) {
            lines.push(`:information_source: ${warning.path}: ${warning.problem}`);
        }
        if (outbound.length === 0 && inbound.length === 0) {
            lines.push('No rules involve this room. `/relay link <instance or URL>` adds one.');
        }
        const seen: Record<string, boolean> = {};
        for (const route of outbound) {
            const key = targetKey(route.to);
            if (seen[key]) {
                continue;
            }
            seen[key] = true;
            const c = counters.filter((x) => x.targetKey === key)[0];
            const waiting = outbox.filter((e) => e.targetKey === key).length;
            const given = dead.filter((d) => d.entry.targetKey === key).length;
            const health = waiting > 0 ? ':hourglass: retrying' : c && c.lastErrorAt && (!c.lastSuccessAt || c.lastErrorAt > c.lastSuccessAt) ? ':x: failing' : ':white_check_mark: ok';
            lines.push(`→ *${route.to.instance}*${channelText(route.to.channel)} ${health} — sent ${c ? c.sent : 0}, retried ${c ? c.retried : 0}, failed ${c ? c.failed : 0}, dead letters ${given}, waiting ${waiting}`);
            if (c && c.lastError) {
                lines.push(`   last error ${c.lastErrorAt ? `${formatDuration(Date.now() - c.lastErrorAt)} ago` : ''}: ${await this.errorFor(caller, c.lastError, read)}`);
            }
        }
        for (const route of inbound) {
            lines.push(`← from *${route.from.instance}* ${channelText(route.from.channel)} (rule ${route.ruleId})`);
        }
        return lines.join('\n');
    }

    private async list(room: IRoom, read: IRead): Promise<string> {
        const { outbound, inbound } = await this.routesOf(room, read);
        if (outbound.length === 0 && inbound.length === 0) {
            return 'No rules involve this room.';
        }
        const describe = (r: Route) => `\`${r.ruleId}\` ${r.from.instance}${channelText(r.from.channel)} → ${r.to.instance}${channelText(r.to.channel)}`;
        return ['*Rules involving this room*', ...outbound.map(describe), ...inbound.map(describe)].join('\n');
    }

    /** Sends a test message to each target through the pipeline's attempt (nothing stored or retried) and reports what happened. */
    private async test(caller: Caller, read: IRead, http: IHttp, persistence: IPersistence, modify: IModify): Promise<string> {
        const { user, room } = caller;
        const { active, siteUrl } = await this.configStore.current(read);
        if (!active) {
            return 'The relay configuration is empty or invalid.';
        }
        const message: RelayMessage = {
            event: 'sent',
            id: `relay-test-${Date.now().toString(36)}`,
            text: `Relay Bridge test message from @${user.username} in #${roomRef(room).name}`,
            sender: { id: user.id, username: user.username, displayName: user.name || user.username, avatarUrl: `${siteUrl}/avatar/${encodeURIComponent(user.username)}`, isBot: false },
            room: roomRef(room),
            files: [],
            timestamp: new Date().toISOString(),
            isSystem: false,
            siteUrl,
        };
        const plans = planDeliveries(active, message);
        if (plans.length === 0) {
            return 'This room has no targets to test.';
        }
        const results = await Promise.all(
            plans.map(async (plan) => {
                const started = Date.now();
                const result = await this.pipeline.tryOut(plan, message, active, { read, http, persistence, modify });
                const took = `${Date.now() - started} ms`;
                return result.ok
                    ? `:white_check_mark: *${plan.instance.name}* delivered (${took})`
                    : `:x: *${plan.instance.name}* failed (${took}) ${caller.isAdmin ? result.error : errorOutline(result.error)}${result.retryable ? ' — retryable' : ''}`;
            }),
        );
        return ['*Test results*', ...results].join('\n');
    }

    /**
     * Admins link a room to any instance or URL. A room owner who is not an admin links only to
     * instances the admin marked `linkable` (for this room): a URL of their own would let anyone
     * who can create a room make the server send requests wherever they like.
     */
    private async link(args: string[], caller: Caller, read: IRead, persistence: IPersistence): Promise<string> {
        const { user, room, isAdmin } = caller;
        const target = (args[0] || '').trim();
        if (!target) {
            return 'Usage: `/relay link <instance or URL>`';
        }
        const { active } = await this.configStore.current(read);
        const ref = roomRef(room);
        const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(target);
        const linkable = (name: string) => isAdmin || linkableFrom(active!.config.instances.get(name)!, ref);
        if (isUrl && !isAdmin) {
            return 'Only administrators can link a room to a URL. Ask one to add the target as an instance with `"linkable": true`; then `/relay link <instance>` works here.';
        }
        if (!isUrl && !(active && active.config.instances.has(target) && linkable(target))) {
            const known = active ? Array.from(active.config.instances.keys()).filter(linkable).join(', ') : '';
            return `No ${isAdmin ? '' : 'linkable '}instance named "${target}"${known ? ` (${isAdmin ? 'configured' : 'linkable from here'}: ${known})` : ''}.${isAdmin ? ' Give an instance name or a URL such as `discord://id/token`.' : ''}`;
        }
        const link: RoomLink = {
            id: fnv1a(`${room.id}\n${target}`).slice(0, 8),
            roomId: room.id,
            roomName: ref.name,
            createdBy: user.username,
            createdAt: new Date().toISOString(),
            ...(isUrl ? { url: target } : { instance: target }),
            ...(isAdmin ? {} : { byOwner: true }),
        };
        const existing = await listLinks(read.getPersistenceReader());
        if (existing.some((l) => l.id === link.id)) {
            return `This room is already linked to ${isUrl ? maskUrl(target) : target}.`;
        }
        // Validate the stored configuration with the new link before storing it.
        const result = await this.configStore.checkStored(read, undefined, link);
        const own = result.ok ? result.dropped.filter((d) => d.id === link.id)[0] : undefined;
        const refusal = !result.ok ? result.error : own ? own.error : undefined;
        if (refusal !== undefined) {
            return `Not linked: ${isAdmin ? refusal.split(target).join(isUrl ? maskUrl(target) : target) : 'the configuration does not allow it (an administrator sees why in the app’s logs)'}`;
        }
        await saveLink(persistence, link);
        this.configStore.invalidate();
        return `Linked: messages in #${ref.name} are now relayed to ${isUrl ? `${maskUrl(target)} (instance \`${linkInstanceName(link)}\`)` : `*${target}*`}. Link id \`${link.id}\`.`;
    }

    private async unlink(args: string[], room: IRoom, read: IRead, persistence: IPersistence): Promise<string> {
        const which = (args[0] || '').trim();
        const links = (await listLinks(read.getPersistenceReader())).filter((l) => l.roomId === room.id);
        const chosen = which ? links.filter((l) => l.id === which || l.instance === which || l.url === which || linkInstanceName(l) === which) : links;
        if (chosen.length === 0) {
            return which ? `This room has no link "${which}".` : 'This room has no links made with `/relay link` (rules from the settings are changed there).';
        }
        for (const link of chosen) {
            await removeLink(persistence, link.id);
        }
        this.configStore.invalidate();
        return `Removed ${chosen.length} link(s): ${chosen.map((l) => `\`${l.id}\` → ${l.url ? maskUrl(l.url) : l.instance}`).join(', ')}`;
    }

    private async deadLetters(args: string[], caller: Caller, read: IRead, modify: IModify, persistence: IPersistence): Promise<string> {
        const { room } = caller;
        const [action, id] = args;
        const letters = (await listDeadLetters(read.getPersistenceReader())).filter((d) => d.entry.message.room.id === room.id);
        if (!action || action === 'list') {
            if (letters.length === 0) {
                return 'No dead letters for this room.';
            }
            const shown = await Promise.all(letters.slice(-20).map(async (d) => `\`${d.id}\` ${d.entry.event} → ${d.entry.instance}, ${formatDuration(Date.now() - d.deadAt)} ago: ${await this.errorFor(caller, d.reason, read)}`));
            return [
                `*Dead letters for this room* (${letters.length})`,
                ...shown,
                'Retry with `/relay dead-letters retry <id|all>`, drop with `/relay dead-letters drop <id|all>`.',
            ].join('\n');
        }
        if (action !== 'retry' && action !== 'drop') {
            return 'Usage: `/relay dead-letters [list | retry <id|all> | drop <id|all>]`';
        }
        const chosen = id === 'all' ? letters : letters.filter((d) => d.id === id);
        if (chosen.length === 0) {
            return id ? `No dead letter "${id}" for this room.` : `Usage: \`/relay dead-letters ${action} <id|all>\``;
        }
        for (const letter of chosen) {
            if (action === 'retry') {
                await this.pipeline.retryDeadLetter(letter.id, read, persistence, modify);
            } else {
                await this.pipeline.dropDeadLetter(letter.id, persistence);
            }
        }
        return `${action === 'retry' ? 'Retrying' : 'Dropped'} ${chosen.length} dead letter(s).`;
    }

    private async reply(context: SlashCommandContext, read: IRead, modify: IModify, text: string): Promise<void> {
        const appUser = await read.getUserReader().getAppUser(this.appId());
        const builder = modify.getCreator().startMessage().setRoom(context.getRoom()).setText(text);
        if (appUser) {
            builder.setSender(appUser);
        }
        const threadId = context.getThreadId();
        if (threadId) {
            builder.setThreadId(threadId);
        }
        await modify.getNotifier().notifyUser(context.getSender(), builder.getMessage());
    }
}

/** Who typed the command, where, and whether they administer the server. */
interface Caller {
    user: IUser;
    room: IRoom;
    isAdmin: boolean;
}

function roomRef(room: IRoom): { id: string; name: string; kind: RoomKind } {
    return { id: room.id, name: room.slugifiedName || room.displayName || room.id, kind: ROOM_KINDS[room.type] || 'channel' };
}

function channelText(channel: Record<string, string>): string {
    const keys = Object.keys(channel);
    return keys.length ? ` (${keys.map((k) => `${k}: ${channel[k]}`).join(', ')})` : '';
}

