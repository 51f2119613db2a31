// In-memory storages for app metadata, app sources (the zip) and app logs.
'use strict';

const crypto = require('crypto');
const { engineRequire } = require('./engine');

const { AppMetadataStorage, AppLogStorage } = engineRequire('server/storage');
const { AppSourceStorage } = engineRequire('server/storage/AppSourceStorage');

class MemoryMetadataStorage extends AppMetadataStorage {
    constructor() {
        super('memory');
        this.items = new Map();
    }
    async create(item) {
        const stored = { ...item, _id: item._id || crypto.randomUUID(), createdAt: new Date(), updatedAt: new Date() };
        this.items.set(stored.id, stored);
        return stored;
    }
    async retrieveOne(id) {
        return this.find(id) || null;
    }
    async retrieveAll() {
        return new Map(this.items);
    }
    async retrieveAllPrivate() {
        return new Map([...this.items].filter(([, item]) => item.installationSource === 'private'));
    }
    async remove(id) {
        const item = this.find(id);
        if (item) this.items.delete(item.id);
        return { deletedCount: 1 };
    }
    async updatePartialAndReturnDocument(item) {
        const current = this.find(item.id || item._id);
        if (!current) throw new Error(`no app ${item.id}`);
        Object.assign(current, item, { updatedAt: new Date() });
        return current;
    }
    // apps-engine < 1.62 (RELAY_BRIDGE_ENGINE=oldest) stores every change through one whole-item
    // update(); 1.62.0 uses the partial methods around it.
    async update(item) {
        return this.updatePartialAndReturnDocument(item);
    }
    async updateStatus(id, status) {
        return this.patch(id, { status });
    }
    async updateSetting(id, setting) {
        const current = this.find(id);
        if (!current) return false;
        current.settings = { ...current.settings, [setting.id]: setting };
        return true;
    }
    async updateAppInfo(id, info) {
        return this.patch(id, { info });
    }
    async updateMarketplaceInfo(id, marketplaceInfo) {
        return this.patch(id, { marketplaceInfo });
    }
    /** The engine passes either the app id or the storage `_id`. */
    find(id) {
        if (this.items.has(id)) return this.items.get(id);
        for (const item of this.items.values()) if (item._id === id) return item;
        return undefined;
    }
    patch(id, fields) {
        const current = this.find(id);
        if (!current) return false;
        Object.assign(current, fields, { updatedAt: new Date() });
        return true;
    }
}

class MemorySourceStorage extends AppSourceStorage {
    constructor() {
        super();
        this.zips = new Map();
    }
    async store(item, zip) {
        this.zips.set(item.id, zip);
        return `memory://${item.id}`;
    }
    async fetch(item) {
        const zip = this.zips.get(item.id);
        if (!zip) throw new Error(`no source stored for app ${item.id}`);
        return zip;
    }
    async update(item, zip) {
        return this.store(item, zip);
    }
    async remove(item) {
        this.zips.delete(item.id);
    }
}

/** Keeps the app's log entries; `onEntry` lets the host print them. */
class MemoryLogStorage extends AppLogStorage {
    constructor(onEntry) {
        super('memory');
        this.entries = [];
        this.onEntry = onEntry;
    }
    async find() {
        return this.entries;
    }
    async findPaginated() {
        return { logs: this.entries, total: this.entries.length };
    }
    async storeEntries(entry) {
        this.entries.push(entry);
        if (this.entries.length > 5000) this.entries.splice(0, this.entries.length - 5000);
        if (this.onEntry) this.onEntry(entry);
        return entry;
    }
    async getEntriesFor(appId) {
        return this.entries.filter((e) => e.appId === appId);
    }
    async removeEntriesFor(appId) {
        this.entries = this.entries.filter((e) => e.appId !== appId);
    }
}

module.exports = { MemoryMetadataStorage, MemorySourceStorage, MemoryLogStorage };
