// The local node Concord's ledger tests and benchmark run against (`hardhat node`).
// It compiles nothing: Concord deploys its own committed artifacts (contracts/build).
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      hardfork: "prague",
      // A reverting transaction is mined with status 0, as on a real node, instead of
      // being answered with an error by eth_sendRawTransaction.
      throwOnTransactionFailures: false,
      throwOnCallFailures: true,
      initialBaseFeePerGas: 1000000000,
      mining: { auto: true },
    },
  },
  paths: { sources: "./empty-sources", cache: "./.cache", artifacts: "./.artifacts" },
};
