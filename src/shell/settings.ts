import { ISetting, SettingType } from '@rocket.chat/apps-engine/definition/settings';

// Every setting the admin sees (Administration → Apps → Relay Bridge → Settings). Labels are
// i18n keys resolved from i18n/<lang>.json.

export const SettingId = {
    RelayConfig: 'relay_config',
    Secrets: 'relay_secrets',
    MaxFileSize: 'max_file_size',
    SiteUrl: 'site_url',
    RetryBaseDelayMs: 'retry_base_delay_ms',
    RetryMaxDelayMs: 'retry_max_delay_ms',
    GiveUpAfterHours: 'give_up_after_hours',
    OutboxMaxEntries: 'outbox_max_entries',
    InboundRatePerMinute: 'inbound_rate_per_minute',
    PrivateHostsAllowed: 'private_hosts_allowed',
    StatusToken: 'status_token',
    QuickRelay: 'quick_relay',
} as const;

export const DEFAULT_OUTBOX_MAX_ENTRIES = 10000;

export const DEFAULT_MAX_FILE_SIZE = 52428800; // 50 MB, NextBridge's default

const EXAMPLE_CONFIG = `{
  "instances": {
    "discord_main": { "url": "discord://WEBHOOK_ID/\${DISCORD_TOKEN}" },
    "ci": { "type": "inbound", "token": "\${CI_TOKEN}", "rooms": ["#builds"] }
  },
  "rules": [
    { "from": { "rocketchat": { "room": "#general" } },
      "to": { "discord_main": {} },
      "msg": { "msg_format": "{msg}", "webhook_title": "{user}" } },
    { "from": { "ci": {} }, "to": { "rocketchat": { "room": "#builds" } },
      "msg": { "rc_alias": "[{platform}] {user}" } }
  ]
}`;

// Storage order is save order: the admin UI saves every setting at once, one by one in this order
// (Rocket.Chat's apps REST `POST /apps/:id/settings`), so Quick relay and Secrets are stored before
// the configuration that uses them is checked.
export const SETTINGS: ISetting[] = [
    {
        id: SettingId.QuickRelay,
        type: SettingType.PASSWORD,
        packageValue: '',
        required: false,
        public: false,
        section: 'relay_section_rules',
        i18nLabel: 'quick_relay_label',
        i18nDescription: 'quick_relay_description',
        i18nPlaceholder: '#general discord://ID/TOKEN slack://A/B/C; #dev json://ci.example.com/hook',
    },
    {
        id: SettingId.Secrets,
        type: SettingType.PASSWORD,
        packageValue: '',
        required: false,
        public: false,
        section: 'relay_section_rules',
        i18nLabel: 'relay_secrets_label',
        i18nDescription: 'relay_secrets_description',
        i18nPlaceholder: 'DISCORD_TOKEN=abc123 CI_TOKEN=s3cr3t-0123456789',
    },
    {
        id: SettingId.RelayConfig,
        type: SettingType.CODE,
        packageValue: '{\n  "instances": {},\n  "rules": []\n}',
        required: false,
        public: false,
        multiline: true,
        section: 'relay_section_rules',
        i18nLabel: 'relay_config_label',
        i18nDescription: 'relay_config_description',
        i18nPlaceholder: EXAMPLE_CONFIG,
    },
    {
        id: SettingId.MaxFileSize,
        type: SettingType.NUMBER,
        packageValue: DEFAULT_MAX_FILE_SIZE,
        required: true,
        public: false,
        section: 'relay_section_delivery',
        i18nLabel: 'max_file_size_label',
        i18nDescription: 'max_file_size_description',
    },
    {
        id: SettingId.RetryBaseDelayMs,
        type: SettingType.NUMBER,
        packageValue: 2000,
        required: true,
        public: false,
        section: 'relay_section_delivery',
        i18nLabel: 'retry_base_delay_ms_label',
        i18nDescription: 'retry_base_delay_ms_description',
    },
    {
        id: SettingId.RetryMaxDelayMs,
        type: SettingType.NUMBER,
        packageValue: 600000,
        required: true,
        public: false,
        section: 'relay_section_delivery',
        i18nLabel: 'retry_max_delay_ms_label',
        i18nDescription: 'retry_max_delay_ms_description',
    },
    {
        id: SettingId.GiveUpAfterHours,
        type: SettingType.NUMBER,
        packageValue: 24,
        required: true,
        public: false,
        section: 'relay_section_delivery',
        i18nLabel: 'give_up_after_hours_label',
        i18nDescription: 'give_up_after_hours_description',
    },
    {
        id: SettingId.OutboxMaxEntries,
        type: SettingType.NUMBER,
        packageValue: DEFAULT_OUTBOX_MAX_ENTRIES,
        required: true,
        public: false,
        section: 'relay_section_delivery',
        i18nLabel: 'outbox_max_entries_label',
        i18nDescription: 'outbox_max_entries_description',
    },
    {
        id: SettingId.SiteUrl,
        type: SettingType.STRING,
        packageValue: '',
        required: false,
        public: false,
        section: 'relay_section_delivery',
        i18nLabel: 'site_url_label',
        i18nDescription: 'site_url_description',
        i18nPlaceholder: 'https://chat.example.com',
    },
    {
        id: SettingId.InboundRatePerMinute,
        type: SettingType.NUMBER,
        packageValue: 600,
        required: true,
        public: false,
        section: 'relay_section_inbound',
        i18nLabel: 'inbound_rate_per_minute_label',
        i18nDescription: 'inbound_rate_per_minute_description',
    },
    {
        id: SettingId.PrivateHostsAllowed,
        type: SettingType.STRING,
        packageValue: '',
        required: false,
        public: false,
        multiline: true,
        section: 'relay_section_inbound',
        i18nLabel: 'private_hosts_allowed_label',
        i18nDescription: 'private_hosts_allowed_description',
        i18nPlaceholder: 'files.corp.example, 10.20.0.0/16',
    },
    {
        id: SettingId.StatusToken,
        type: SettingType.PASSWORD,
        packageValue: '',
        required: false,
        public: false,
        section: 'relay_section_monitoring',
        i18nLabel: 'status_token_label',
        i18nDescription: 'status_token_description',
    },
];
