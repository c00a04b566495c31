/** A person's data in leadcycle: erasure (`forgetPerson`) and access (`exportPerson`), for every door. */
export * from './export.js';
export * from './forget.js';
export * from './person.js';
export * from './runs.js';
