import { cpus, freemem, totalmem, release, platform, arch, loadavg } from 'node:os';

export interface MachineDescription {
  cpuModel: string;
  cpuCount: number;
  memoryMb: number;
  freeMemoryMb: number;
  loadAverage: number[];
  node: string;
  platform: string;
  release: string;
  arch: string;
}

/** What the numbers were measured on; stored with every result. */
export function describeMachine(): MachineDescription {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpuCount: list.length,
    memoryMb: Math.round(totalmem() / 1024 / 1024),
    freeMemoryMb: Math.round(freemem() / 1024 / 1024),
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    platform: platform(),
    release: release(),
    arch: arch(),
  };
}

export function machineLine(m: MachineDescription): string {
  return `${m.cpuModel} × ${m.cpuCount}, ${m.memoryMb} MB RAM, Node ${m.node}, ${m.platform} ${m.release}`;
}
