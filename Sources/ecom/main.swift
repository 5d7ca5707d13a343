import EcomCLI

await EcomCommand.start()
