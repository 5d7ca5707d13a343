import EcomCLI

EcomCommand.limitMallocArenas()
await EcomCommand.start()
