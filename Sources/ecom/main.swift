import EcomCLI

EcomCommand.limitMallocArenas()
EcomCommand.prepareTransport()
await EcomCommand.start()
